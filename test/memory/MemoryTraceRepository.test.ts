import { MemoryTraceRepository } from "../../src/memory/index.js"
import { traceRepositoryContract } from "../../src/testing/TraceRepositoryContract.js"
import { traceRepositoryTracing } from "../contract/TracingContract.js"

traceRepositoryContract("memory", MemoryTraceRepository.layer())
traceRepositoryTracing("memory", "memory", MemoryTraceRepository.layer())
