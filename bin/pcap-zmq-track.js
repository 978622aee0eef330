#!/usr/bin/env node
import '../dist/lib/cli/track.js'
