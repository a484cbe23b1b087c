import { MemoryTraceRepository } from "../../src/index.js"
import { concurrentStores } from "./loadSuite.js"

concurrentStores("memory", MemoryTraceRepository.layer)
