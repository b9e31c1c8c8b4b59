"""What a published model needs to be served on its own: the serving index (id mapping, items to
exclude, item attributes), the ANN index of embedding models, catalogue search, and publishing a model
with all of it as a versioned artifact."""
