"""The AI: the detector and forecaster protocol, built-in models, the model hub, evaluation."""
