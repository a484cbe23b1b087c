import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import { clickhouseTarget, migrationsContract } from "../contract/MigrationsContract.js"

migrationsContract("ClickHouse (embedded chDB)", clickhouseTarget.pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:") }))), "clickhouse")
