"""Getting data in, in the raw data contract: public datasets' importers, the synthetic world (with
its hidden truth) and loading raw files into the warehouse's raw schema."""
