"""Continuous training: the steps a retraining run takes."""
