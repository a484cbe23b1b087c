CREATE DATABASE IF NOT EXISTS llmtrace ON CLUSTER `llmtrace_cluster`;

CREATE TABLE IF NOT EXISTS llmtrace.llmtrace_migrations ON CLUSTER `llmtrace_cluster`
(
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/llmtrace/llmtrace_migrations', '{replica}')
ORDER BY version;

CREATE TABLE IF NOT EXISTS llmtrace.spans ON CLUSTER `llmtrace_cluster`
(
    tenant_id String,
    trace_id String,
    span_id String,
    parent_span_id Nullable(String),
    operation_name LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    end_time Nullable(DateTime64(3, 'UTC')),
    provider LowCardinality(String),
    model_name LowCardinality(String),
    prompt String CODEC(ZSTD(3)),
    response Nullable(String) CODEC(ZSTD(3)),
    prompt_tokens Nullable(Int64),
    completion_tokens Nullable(Int64),
    total_tokens Nullable(Int64),
    time_to_first_token_ms Nullable(Float64),
    duration_ms Nullable(Float64),
    status_code Nullable(Int64),
    error_message Nullable(String) CODEC(ZSTD(3)),
    estimated_cost_usd Nullable(Float64),
    security_score Nullable(UInt8),
    security_findings String CODEC(ZSTD(3)),
    tags Map(String, String),
    events String CODEC(ZSTD(3)),
    agent_actions String CODEC(ZSTD(3)),
    size_bytes UInt64,
    version UInt64,
    INDEX idx_span_id span_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_start_time start_time TYPE minmax GRANULARITY 4,
    INDEX idx_security_score security_score TYPE minmax GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/llmtrace/spans', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant_id, trace_id, span_id)
TTL toDateTime(start_time) + toIntervalDay(90);

CREATE TABLE IF NOT EXISTS llmtrace.traces ON CLUSTER `llmtrace_cluster`
(
    tenant_id String,
    trace_id String,
    created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    span_start SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/llmtrace/traces', '{replica}')
ORDER BY (tenant_id, trace_id)
TTL toDateTime(assumeNotNull(coalesce(created_at, span_start))) + toIntervalDay(90);

CREATE MATERIALIZED VIEW IF NOT EXISTS llmtrace.spans_to_traces ON CLUSTER `llmtrace_cluster` TO llmtrace.traces
AS SELECT
    tenant_id,
    trace_id,
    CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS created_at,
    min(start_time) AS span_start
FROM llmtrace.spans
GROUP BY tenant_id, trace_id;

DROP VIEW IF EXISTS llmtrace.spans_to_traces ON CLUSTER `llmtrace_cluster`;

ALTER TABLE llmtrace.spans ON CLUSTER `llmtrace_cluster` MODIFY COLUMN size_bytes UInt64 DEFAULT length(prompt) + length(ifNull(response, '')) + length(ifNull(error_message, '')) + length(security_findings) + length(events) + length(agent_actions) + arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(tags), mapValues(tags)));

ALTER TABLE llmtrace.spans ON CLUSTER `llmtrace_cluster` UPDATE size_bytes = length(prompt) + length(ifNull(response, '')) + length(ifNull(error_message, '')) + length(security_findings) + length(events) + length(agent_actions) + arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(tags), mapValues(tags))) WHERE 1;

ALTER TABLE llmtrace.spans ON CLUSTER `llmtrace_cluster` MODIFY COLUMN tenant_id CODEC(ZSTD(1)), MODIFY COLUMN trace_id CODEC(ZSTD(1)), MODIFY COLUMN span_id CODEC(ZSTD(1)), MODIFY COLUMN parent_span_id CODEC(ZSTD(1)), MODIFY COLUMN operation_name CODEC(ZSTD(1)), MODIFY COLUMN start_time CODEC(ZSTD(1)), MODIFY COLUMN end_time CODEC(ZSTD(1)), MODIFY COLUMN provider CODEC(ZSTD(1)), MODIFY COLUMN model_name CODEC(ZSTD(1)), MODIFY COLUMN prompt_tokens CODEC(ZSTD(1)), MODIFY COLUMN completion_tokens CODEC(ZSTD(1)), MODIFY COLUMN total_tokens CODEC(ZSTD(1)), MODIFY COLUMN time_to_first_token_ms CODEC(ZSTD(1)), MODIFY COLUMN duration_ms CODEC(ZSTD(1)), MODIFY COLUMN status_code CODEC(ZSTD(1)), MODIFY COLUMN estimated_cost_usd CODEC(ZSTD(1)), MODIFY COLUMN security_score CODEC(ZSTD(1)), MODIFY COLUMN size_bytes CODEC(ZSTD(1)), MODIFY COLUMN version CODEC(ZSTD(1));

ALTER TABLE llmtrace.traces ON CLUSTER `llmtrace_cluster` MODIFY COLUMN tenant_id CODEC(ZSTD(1)), MODIFY COLUMN trace_id CODEC(ZSTD(1)), MODIFY COLUMN created_at CODEC(ZSTD(1)), MODIFY COLUMN span_start CODEC(ZSTD(1));

ALTER TABLE llmtrace.spans ON CLUSTER `llmtrace_cluster` MODIFY COLUMN tags Map(LowCardinality(String), String) CODEC(ZSTD(1));

CREATE TABLE IF NOT EXISTS llmtrace.spans_v3 ON CLUSTER `llmtrace_cluster` AS llmtrace.spans
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/llmtrace/spans_v3', '{replica}', version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant_id, trace_id, span_id)
TTL toDateTime(start_time) + toIntervalDay(90)
SETTINGS index_granularity_bytes = 1048576, merge_max_block_size = 1024, merge_max_block_size_bytes = 1048576;

EXCHANGE TABLES llmtrace.spans AND llmtrace.spans_v3 ON CLUSTER `llmtrace_cluster`;

RENAME TABLE llmtrace.spans_v3 TO llmtrace.spans_v3_retired ON CLUSTER `llmtrace_cluster`;

ALTER TABLE llmtrace.spans ON CLUSTER `llmtrace_cluster` ATTACH PARTITION ALL FROM llmtrace.spans_v3_retired;

DROP TABLE IF EXISTS llmtrace.spans_v3_retired ON CLUSTER `llmtrace_cluster` SYNC;
