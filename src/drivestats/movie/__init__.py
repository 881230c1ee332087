"""The fleet movie: layout → day-by-day cell state → pixels → ffmpeg segments → mp4."""
