"""Progress output: one line per step, so a long run shows where it is."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def detail(message: str) -> None:
    print(f"    {message}", flush=True)
