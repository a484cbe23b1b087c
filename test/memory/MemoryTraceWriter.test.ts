import { MemoryTraceRepository } from "../../src/memory/index.js"
import { traceWriterContract } from "../../src/testing/TraceWriterContract.js"

traceWriterContract("memory", MemoryTraceRepository.layer())
