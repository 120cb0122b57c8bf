import VGPUCtlCommands

// GeneratedHelpText is written at build time by Plugins/HelpTextPlugin from the commands' declarations.
CommandLineEntry.run(helpText: GeneratedHelpText.root)
