import type { Either } from "fp-ts/lib/Either.js";

// fp-ts's `Either` values, built here instead of imported: the only form of fp-ts that Node's
// ESM loader accepts is its CommonJS build, which bundlers cannot tree-shake, and it would
// more than double what a widget ships for this package (docs/adr/0004-codec-speed.md).
// io-ts itself resolves to fp-ts's ES modules in a bundler.

export type { Either };

export function left<E, A = never>(value: E): Either<E, A> {
  return { _tag: "Left", left: value };
}

export function right<A, E = never>(value: A): Either<E, A> {
  return { _tag: "Right", right: value };
}

export function mapLeft<E, F, A>(either: Either<E, A>, f: (value: E) => F): Either<F, A> {
  return either._tag === "Left" ? left(f(either.left)) : either;
}
