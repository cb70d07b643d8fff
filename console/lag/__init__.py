"""Consumer lag over time: samples, alert rules and their state, offset-reset records.

A Django app of its own (`console.lag`). It owns what the console remembers about groups
between page views; the cluster is reached only through `console.kafka.groups`.
"""
