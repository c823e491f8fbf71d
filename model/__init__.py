"""Pure NumPy maths of the character RNN: alphabet, the seed's ReLU RNN with exact BPTT, LSTM cell."""
