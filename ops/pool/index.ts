/** (filled in by the pool family) */
export {}
