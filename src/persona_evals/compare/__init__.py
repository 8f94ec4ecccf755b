"""Comparisons of runs that differ in their steering, for any task: rows that plots and tables draw.

- `log_metrics`: every metric of any task's logs by name, with a 95% CI (each log read once), and
  the groups of logs that differ only in their steering, with their unsteered baseline;
- `effect`: a metric vs the steering coefficient, a line per direction (``viz steering-effect``);
- `linearity`: steering with A and B together vs the sum of A and B alone (``viz steering-linearity``);
- `trait_change`: cosine between trait vectors vs the relative change of one trait when steering
  with another (``viz cosine-trait-change``).
"""
