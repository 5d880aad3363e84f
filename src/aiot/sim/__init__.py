"""Simulated fleets of the verticals (traffic, oil wells, chemical reactors), with labelled faults."""
