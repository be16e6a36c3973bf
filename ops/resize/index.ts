/** (filled in by the resize family) */
export {}
