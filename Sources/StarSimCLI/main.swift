print("starsim: under construction")
