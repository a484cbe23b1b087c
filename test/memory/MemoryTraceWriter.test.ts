import { MemoryTraceRepository } from "../../src/index.js"
import { traceWriterContract } from "../../src/testing/TraceWriterContract.js"

traceWriterContract("memory", MemoryTraceRepository.layer())
