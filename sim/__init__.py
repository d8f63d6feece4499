"""Reference models, stimuli and testbenches."""
