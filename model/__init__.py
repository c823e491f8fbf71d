"""Pure NumPy maths of the character RNN: alphabet, the assignment's ReLU RNN with exact BPTT, LSTM cell."""
