"""Session recordings: one compressed file per session, listed, played back, served.

- `format`: the byte layout (pure);
- `writer`: `Recorder` (one per gateway) and `SessionRecording` (one per session);
- `reader`: open a file (also a truncated one), header, frames, footer;
- `catalog`: list and find recordings in a directory; `retention`: prune them;
- `transcript`: `wardgate replay` output; `serve`: `wardgate replay --serve`.
"""
