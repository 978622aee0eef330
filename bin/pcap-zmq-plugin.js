#!/usr/bin/env node
import '../dist/lib/cli/plugin.js'
