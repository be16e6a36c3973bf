/** (filled in by the sort family) */
export {}
