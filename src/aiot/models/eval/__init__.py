"""Evaluation on public benchmarks, each scored the way that benchmark scores itself."""
