"""Predictive maintenance: drift and change points in what each piece of equipment measures, and when
its values will cross their control and specification limits."""
