/**
 * `llmtrace-storage/otlp`: the OTLP/HTTP receiver (JSON and protobuf) that stores OpenTelemetry spans
 * through `TraceWriter`, the OTLP data model, and the mapping of OpenTelemetry GenAI attributes to a `TraceSpan`.
 */
export * as OtelMapping from "../domain/OtelMapping.js"
export * as OtlpModel from "../domain/OtlpModel.js"
export * as OtlpReceiver from "./OtlpReceiver.js"
