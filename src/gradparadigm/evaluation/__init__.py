"""Evaluation: STS (cosine, Spearman) and SentEval transfer tasks (logistic regression on frozen embeddings)."""
