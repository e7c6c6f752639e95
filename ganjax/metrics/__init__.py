"""Sample-quality metrics: toy mode coverage here; Inception-based metrics in their own modules."""
