"""The program on Pulumi's in-process mock engine, and the reviewable artifacts of what it registers."""
