"""Populating a room: what it offers (spots), who does what where (interactions, plan), and the
people placed there (pose-adaptive placement through :mod:`posa_model.placement`)."""
