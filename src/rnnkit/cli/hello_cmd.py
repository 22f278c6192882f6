"""``rnnkit hello``: the four-letter "hello" example, trained in seconds."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("hello", help='the classic example: an RNN learns to spell "hello"')
    p.add_argument("--word", default="hello")
    p.add_argument("--cell", default="rnn", choices=["rnn", "lstm", "gru"])
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..tasks.hello import hello

    r = hello(args.word, args.cell, args.hidden, args.steps, seed=args.seed)
    letters = list(r.table[0][2])
    print(f"vocabulary {letters}, one-hot inputs, a {args.cell} with {args.hidden} hidden units")
    print(f"loss: {r.losses[0]:.3f} at step 1 -> {r.losses[-1]:.4f} at step {len(r.losses)}")
    print("input  target  prediction   " + "  ".join(f"p({c})" for c in letters))
    for inp, tgt, probs in r.table:
        pred = max(probs, key=probs.get)
        mark = "ok" if pred == tgt else "WRONG"
        cols = "  ".join(f"{probs[c]:.2f}".rjust(4) for c in letters)
        print(f"  {inp}      {tgt}      {pred} {mark:5}    {cols}")
    print(f"generated from '{args.word[0]}', feeding each prediction back: {r.generated}")
    return 0 if r.generated == args.word else 1
