import { MemoryTraceRepository } from "../../src/index.js"
import { traceRepositoryContract } from "../contract/TraceRepositoryContract.js"

traceRepositoryContract("memory", MemoryTraceRepository.layer())
