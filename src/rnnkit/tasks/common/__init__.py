"""What several tasks share: the recurrent encoder, pooling, word features, metrics and the
sampling options."""
