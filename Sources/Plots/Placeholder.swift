enum _PlotsPlaceholder {}
