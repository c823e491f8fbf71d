"""One router per concern: meta (what is served), predict (the RNN), lstm (the LSTM cell)."""
