import type { CodedError } from './result.js';

/** An error that points at a UTF-16 offset of the input string. */
export interface PositionedError<C extends string> extends CodedError {
  readonly code: C;
  /** UTF-16 offset into the string that was parsed (the whole input, not a component of it). */
  readonly index: number;
}

/**
 * An error about one offending character: `input.slice(index, index + char.length) === char`.
 * `char` is a whole code point (two UTF-16 units for astral characters).
 */
export interface CharError<C extends string> extends PositionedError<C> {
  /** The offending character. */
  readonly char: string;
}

/** An error about a size limit; `actual` is measured in the same unit as `max`. */
export interface LimitError<C extends string> extends CodedError {
  readonly code: C;
  /** The limit that was exceeded. */
  readonly max: number;
  /** The measured size of the input. */
  readonly actual: number;
}

/** An error with nothing to add beyond its code and message. */
export interface PlainError<C extends string> extends CodedError {
  readonly code: C;
}
