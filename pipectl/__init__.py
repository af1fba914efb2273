"""pipectl: build, check, watch and remove an S3 -> Lambda -> DynamoDB pipeline."""

__version__ = "0.1.0"
