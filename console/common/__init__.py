"""What every console page shares: error pages and texts, counted sentences, CSV cells."""
