"""The HeliosDB-emulating node (system under test). Never imports harness code."""
