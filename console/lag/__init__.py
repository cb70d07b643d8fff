"""Consumer lag over time: samples, alert rules and their state, offset-reset records.

A Django app of its own (`console.lag`). It owns what the console remembers about groups
between page views (`models`, `history`, `alerts`, `sampler`), measures lag (`measure`, its
arithmetic in `arithmetic`) and plans offset resets (`reset_plan`); the cluster is reached
only through `console.kafka`.
"""
