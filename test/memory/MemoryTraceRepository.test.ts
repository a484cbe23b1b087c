import { MemoryTraceRepository } from "../../src/index.js"
import { traceRepositoryContract } from "../../src/testing/TraceRepositoryContract.js"

traceRepositoryContract("memory", MemoryTraceRepository.layer())
