"""Training the policy: BPE tokenizer, generated curriculum, supervised training, expert iteration,
checkpoint export and plots (`prover train`, `make train`). Above `search/`: it runs searches to
make data; nothing below imports it."""
