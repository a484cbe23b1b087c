import * as Data from "effect/Data"

/** An OTLP body that cannot be read: the receiver answers 400 with this message. */
export class OtlpDecodeError extends Data.TaggedError("OtlpDecodeError")<{ readonly message: string }> {}
