import * as Layer from "effect/Layer"
import { clickhouseTarget, migrationsContract } from "../contract/MigrationsContract.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"

// The same contract through @clickhouse/client's HTTP transport, on the HTTP fixture over the embedded engine.
migrationsContract("ClickHouse over HTTP (fixture)", clickhouseTarget.pipe(Layer.provide(ClickHouseHttp.client("default"))), "clickhouse")
