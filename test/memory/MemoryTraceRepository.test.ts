import { MemoryTraceRepository } from "../../src/index.js"
import { traceRepositoryContract } from "../contract/TraceRepositoryContract.js"
import { traceRepositoryTracing } from "../contract/TracingContract.js"

traceRepositoryContract("memory", MemoryTraceRepository.layer())
traceRepositoryTracing("memory", "memory", MemoryTraceRepository.layer())
