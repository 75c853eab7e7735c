"""Evaluation: STS (cosine Spearman, SentEval/SimCSE settings) and transfer tasks (SentEval)."""
