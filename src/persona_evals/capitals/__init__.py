"""The capitals sanity benchmark: does a (steered) model still answer plain factual questions?"""
