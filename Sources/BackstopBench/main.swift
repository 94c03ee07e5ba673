/// backstop-bench: benchmark programs that print figures (not tests).
print("backstop-bench: not built yet")
