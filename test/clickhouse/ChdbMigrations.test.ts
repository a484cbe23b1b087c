import * as Layer from "effect/Layer"
import { ClickHouseClient } from "../../src/index.js"
import { clickhouseTarget, migrationsContract } from "../contract/MigrationsContract.js"

migrationsContract("ClickHouse (embedded chDB)", clickhouseTarget.pipe(Layer.provide(ClickHouseClient.layerWith({ url: "chdb::memory:" }))), "clickhouse")
